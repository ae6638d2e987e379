-- cartnudge shop contract: purchases_since — Magento 2.4 on MariaDB
--
-- The latest order (not canceled) of these customers and of these e-mail addresses (a guest
-- order under a member's address is that person's purchase). The utf8mb4 general collation
-- compares addresses without regard to case.
--
-- Bind parameters:
--   :customer_ids  a list of customer ids
--   :emails        a list of e-mail addresses in lower case
SELECT
  o.customer_id       AS customer_id,
  LOWER(o.customer_email) AS email,
  MAX(o.created_at)   AS purchased_at
FROM sales_order o
WHERE o.state <> 'canceled'
  AND (o.customer_id IN :customer_ids OR o.customer_email IN :emails)
GROUP BY o.customer_id, LOWER(o.customer_email)
