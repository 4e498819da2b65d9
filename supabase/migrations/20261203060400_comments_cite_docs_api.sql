-- Comments cite docs/api.md (in the repository) instead of the CONTRACT document (not in it).
comment on table public.customer_facts is
  'One row per customer with the facts of docs/api.md §5, written only by triggers on the sources (same transaction). Read by segments and the admin list.';
comment on view public.customer_effective_risk is
  'The effective risk of every customer (docs/api.md §5: the active admin override, else users.risk_score) and its level. Admin only.';
