-- cartnudge shop contract: abandoned
--
-- THE definition of an abandoned order for this shop: every order (or cart) in abandoned state,
-- one row per order, whenever it was abandoned. Write it once; cartnudge wraps it as a subquery
-- for every read it needs (the sweep's keyset pages, one order by id, search, the report's
-- period), adding its own WHERE, ORDER BY and LIMIT with bind parameters. So: no bind
-- parameters, no ORDER BY or LIMIT here, unique column names, and keep it a plain
-- SELECT ... JOIN ... WHERE so that each database pushes cartnudge's conditions into it and
-- uses the indexes on abandoned_at and last_activity_at.
--
-- Columns (README, "The shop contract", has the table with types and defaults):
--   required  order_id, customer_id (NULL: guest or deleted customer), abandoned_at,
--             total_amount (the items' total with tax, without shipping)
--   optional  customer_status, customer_name, email, email_consent, storefront, lp_id,
--             abandoned_step, last_activity_at, fraud_result, fraud_action, purchased_at,
--             phone, sms_consent, push_token, push_consent, line_user_id, line_consent,
--             logged_in, ad_input_enabled, returning_customer
-- Leave an optional column out and it takes its documented default; extra columns are ignored.
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
  c.line_user_id     AS line_user_id,
  c.line_optin       AS line_consent,
  o.logged_in        AS logged_in,
  a.input_abandonment AS ad_input_enabled,
  (SELECT MAX(p.completed_at)
     FROM orders p
    WHERE p.customer_id = o.customer_id
      AND p.state = 'completed') AS purchased_at
FROM orders o
LEFT JOIN customers c ON c.id = o.customer_id
LEFT JOIN ad_urls a ON a.id = o.ad_url_id
WHERE o.state = 'abandoned'
