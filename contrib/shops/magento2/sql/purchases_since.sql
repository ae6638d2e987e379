-- cartnudge shop contract: purchases_since — FIRST DRAFT for Magento 2.4 on MariaDB
--
-- Re-checked just before sending: the latest completed order of each of these customers, so a
-- shopper who bought between selection and sending is not reminded (skip reason "purchased").
--
-- Columns it must return:
--   customer_id   integer
--   purchased_at  timestamp  the customer's latest completed order
--
-- Bind parameters:
--   :customer_ids  a list of customer ids (expanded to IN (...))
--
-- Magento mapping (draft): any order not canceled, by its created_at (the order is placed;
-- state 'complete' comes later, after invoice and shipment). A member who buys as a guest
-- (logged out) has customer_id NULL on that order and is not seen here.
SELECT
  o.customer_id       AS customer_id,
  MAX(o.created_at)   AS purchased_at
FROM sales_order o
WHERE o.state <> 'canceled'
  AND o.customer_id IN :customer_ids
GROUP BY o.customer_id
