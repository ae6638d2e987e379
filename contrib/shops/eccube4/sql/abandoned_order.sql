-- cartnudge shop contract: abandoned_order — FIRST DRAFT for EC-CUBE 4.2 on PostgreSQL
--
-- One order by id, with the same columns as abandoned_orders.sql (see there, and the EC-CUBE
-- mapping and its HACK for cart rows), for `cartnudge templates preview --order N` and
-- `cartnudge token verify`.
--
-- Bind parameters:
--   :order_id   the order's id
SELECT
  a.order_id,
  a.customer_id,
  CASE WHEN cu.customer_status_id = 2 THEN 'member' ELSE 'visitor' END AS customer_status,
  a.customer_name,
  a.email,
  (cu.customer_status_id = 2 AND cu.plg_mailmagazine_flg = 1) IS TRUE AS email_consent,
  'shop'             AS storefront,
  CAST(NULL AS INT)  AS lp_id,
  a.abandoned_step,
  a.abandoned_at,
  a.last_activity_at,
  a.total_amount,
  CAST(NULL AS TEXT) AS fraud_result,
  CAST(NULL AS TEXT) AS fraud_action,
  a.phone,
  FALSE              AS sms_consent,
  a.customer_id IS NOT NULL AS logged_in,
  (SELECT MAX(p.order_date)
     FROM dtb_order p
    WHERE p.order_status_id IN (1, 4, 5, 6)
      AND (p.customer_id = a.customer_id OR p.email = a.email)) AS purchased_at
FROM (
  SELECT o.id AS order_id, o.customer_id, o.name01 || ' ' || o.name02 AS customer_name,
         o.email, 'confirm' AS abandoned_step, o.update_date AS abandoned_at,
         GREATEST(o.update_date, c.update_date) AS last_activity_at,
         o.total AS total_amount, o.phone_number AS phone
    FROM dtb_order o
    LEFT JOIN dtb_cart c ON c.pre_order_id = o.pre_order_id
   WHERE o.order_status_id = 8
  UNION ALL
  SELECT 1000000000 + c.id, c.customer_id, m.name01 || ' ' || m.name02,
         m.email, 'cart', c.update_date, c.update_date, c.total_price, m.phone_number
    FROM dtb_cart c
    LEFT JOIN dtb_customer m ON m.id = c.customer_id
   WHERE c.pre_order_id IS NULL
) a
LEFT JOIN dtb_customer cu ON cu.id = a.customer_id
WHERE a.order_id = :order_id
