-- cartnudge shop contract: purchases_since — FIRST DRAFT for EC-CUBE 4.2 on PostgreSQL
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
-- EC-CUBE mapping (draft): "completed" = order_status_id 1 新規受付, 4 対応中, 5 発送済み,
-- 6 入金済み; the time is order_date. Guests have no customer id, so a guest who bought in
-- between is not seen here (abandoned_orders.sql matches guests by e-mail instead).
SELECT
  o.customer_id       AS customer_id,
  MAX(o.order_date)   AS purchased_at
FROM dtb_order o
WHERE o.order_status_id IN (1, 4, 5, 6)
  AND o.customer_id IN :customer_ids
GROUP BY o.customer_id
