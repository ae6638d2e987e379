-- cartnudge shop contract: search_customers
--
-- Every customer, for `cartnudge search` and `cartnudge send-bulk` (cartnudge pages it itself
-- by customer_id: no ORDER BY or LIMIT here). Each customer's latest abandoned order comes
-- from abandoned.sql; filters are applied by cartnudge.
--
-- Columns:
--   customer_id       integer or text   required
--   customer_name     text              optional
--   email             text              optional
--   email_consent     boolean           optional (default: no)
--   customer_status   text              optional: 'member' | 'visitor'
SELECT
  c.id             AS customer_id,
  c.name           AS customer_name,
  c.email          AS email,
  c.email_optin    AS email_consent,
  c.status         AS customer_status
FROM customers c
