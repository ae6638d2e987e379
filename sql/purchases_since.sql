-- cartnudge shop contract: purchases_since
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
SELECT
  o.customer_id        AS customer_id,
  MAX(o.completed_at)  AS purchased_at
FROM orders o
WHERE o.state = 'completed'
  AND o.customer_id IN :customer_ids
GROUP BY o.customer_id
