// A typed supabase-js client against the generated schema. `npm test` type-checks this file,
// so a schema change that breaks frontends' calls breaks the build.
import { createClient } from "@supabase/supabase-js";
import type { Database } from "../types/database.ts";

// url: the API URL (locally http://127.0.0.1:54321); publishableKey: sb_publishable_…; jwt: the
// signed-in user's access token (locally, `npm start` prints one per seeded login).
export function crmClient(url: string, jwt: string, publishableKey = process.env.SUPABASE_PUBLISHABLE_KEY ?? "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH") {
  return createClient<Database>(url, publishableKey, { accessToken: async () => jwt });
}

export async function tagCustomer(url: string, jwt: string, customerId: string, tagName: string) {
  const supabase = crmClient(url, jwt);
  const { data: tag, error } = await supabase
    .from("customer_tags")
    .insert({ name: tagName, color: "#0EA5E9" })
    .select("id, name, color, created_at")
    .single();
  if (error) throw error;
  const tagId: string = tag.id;
  await supabase.from("customer_tag_members").insert({ customer_id: customerId, tag_id: tagId });
  const { data: notes } = await supabase
    .from("customer_notes")
    .select("id, note, type, visibility, created_at")
    .eq("customer_id", customerId)
    .order("created_at", { ascending: false });
  const firstType: string | undefined = notes?.[0]?.type;
  const { data: consent } = await supabase.rpc("set_customer_consent", {
    customer_id: customerId,
    channel: "email",
    enabled: true,
  });
  return { tagId, firstType, consent };
}
