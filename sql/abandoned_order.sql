-- cartnudge shop contract: abandoned_order
--
-- One order by id, with the same columns as abandoned_orders.sql (see there), for
-- `cartnudge templates preview --order N` and `cartnudge token verify`.
--
-- Bind parameters:
--   :order_id   the order's id
SELECT
  o.id               AS order_id,
  o.customer_id      AS customer_id,
  c.status           AS customer_status,
  c.name             AS customer_name,
  c.email            AS email,
  c.email_optin      AS email_consent,
  o.storefront       AS storefront,
  o.lp_id            AS lp_id,
  o.abandoned_step   AS abandoned_step,
  o.abandoned_at     AS abandoned_at,
  o.last_activity_at AS last_activity_at,
  o.total_amount     AS total_amount,
  o.fraud_result     AS fraud_result,
  o.fraud_action     AS fraud_action,
  c.phone            AS phone,
  c.sms_optin        AS sms_consent,
  c.push_token       AS push_token,
  c.push_optin       AS push_consent,
  o.logged_in        AS logged_in,
  a.input_abandonment AS ad_input_enabled,
  (SELECT MAX(p.completed_at)
     FROM orders p
    WHERE p.customer_id = o.customer_id
      AND p.state = 'completed') AS purchased_at
FROM orders o
LEFT JOIN customers c ON c.id = o.customer_id
LEFT JOIN ad_urls a ON a.id = o.ad_url_id
WHERE o.id = :order_id
