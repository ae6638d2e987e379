-- cartnudge shop contract: purchases_since — EC-CUBE 4.2 on PostgreSQL
--
-- The latest completed order of these customers, and of these (normalised, lower-case) e-mail
-- addresses: a guest order under the member's address counts as the member's purchase.
--
-- Bind parameters:
--   :customer_ids  a list of customer ids
--   :emails        a list of e-mail addresses in lower case
SELECT
  o.customer_id       AS customer_id,
  LOWER(o.email)      AS email,
  MAX(o.order_date)   AS purchased_at
FROM dtb_order o
WHERE o.order_status_id IN (1, 4, 5, 6)
  AND (o.customer_id IN :customer_ids OR LOWER(o.email) IN :emails)
GROUP BY o.customer_id, LOWER(o.email)
