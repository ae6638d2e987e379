-- cartnudge shop contract: abandoned — EC-CUBE 4.2 on PostgreSQL (contrib/shops/eccube4)
--
-- THE definition of an abandoned order for EC-CUBE (README, "Adapting cartnudge to your shop"):
-- cartnudge wraps this SELECT for its pages, lookups, search and report, so it takes no bind
-- parameters and has no ORDER BY or LIMIT.
--
-- Two kinds of rows (../NOTES.md, 1-3):
--   * dtb_order in 購入処理中 (order_status_id 8): the shopper opened the purchase screen;
--     step 'confirm' (EC-CUBE does not record whether the confirmation was reached).
--   * dtb_cart without pre_order_id: products in the cart, purchase screen never opened;
--     step 'cart'. Carts have their own id sequence: their order_id is 1000000000 + cart id
--     (order_items.sql decodes it).
-- Columns EC-CUBE does not record are left out and take the contract's defaults: storefront
-- (shop), lp_id, fraud_result/fraud_action (none), push. total_amount is the items with tax,
-- without delivery fee or charge: dtb_order.subtotal, dtb_cart.total_price. Times are
-- timestamptz (read exactly). Consent: the mail-magazine plugin's flag of a 本会員 (status 2).
SELECT
  a.order_id,
  a.customer_id,
  CASE WHEN cu.customer_status_id = 2 THEN 'member' ELSE 'visitor' END AS customer_status,
  a.customer_name,
  a.email,
  (cu.customer_status_id = 2 AND cu.plg_mailmagazine_flg = 1) IS TRUE AS email_consent,
  a.abandoned_step,
  a.abandoned_at,
  a.last_activity_at,
  a.total_amount,
  a.phone,
  a.customer_id IS NOT NULL AS logged_in,
  (SELECT MAX(p.order_date)
     FROM dtb_order p
    WHERE p.order_status_id IN (1, 4, 5, 6)
      AND p.customer_id = a.customer_id) AS purchased_at
FROM (
  SELECT o.id AS order_id, o.customer_id, o.name01 || ' ' || o.name02 AS customer_name,
         o.email, 'confirm' AS abandoned_step, o.update_date AS abandoned_at,
         GREATEST(o.update_date, c.update_date) AS last_activity_at,
         o.subtotal AS total_amount, o.phone_number AS phone
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
