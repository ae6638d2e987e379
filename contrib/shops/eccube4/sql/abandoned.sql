-- cartnudge shop contract: abandoned — FIRST DRAFT for EC-CUBE 4.2 on PostgreSQL
-- (the frictions are listed in ../NOTES.md)
--
-- Orders in abandoned state that may be due for a reminder, one row per order, in keyset
-- pages ordered by (last_activity_at, order_id). The sweep decides exactly; this query only
-- pre-filters so that it never scans what cannot be due (expired or far too recent carts).
--
-- Columns it must return (names exactly; extra columns are ignored):
--   order_id          integer   the order's id (also the keyset tie-breaker)
--   customer_id       integer   NULL allowed
--   customer_status   text      'member' | 'visitor'
--   customer_name     text      for "{{ customer_name }} 様"
--   email             text      NULL allowed
--   email_consent     boolean   opt-in to advertising e-mail (0/1 on MySQL)
--   storefront        text      'lp' | 'shop'
--   lp_id             integer   the landing page of an LP order, else NULL
--   abandoned_step    text      'cart' | 'confirm' | 'payment_failed' | 'input'
--   abandoned_at      timestamp when the shopper left (shop.timestamps_timezone)
--   last_activity_at  timestamp last activity on this cart (>= abandoned_at)
--   total_amount      integer   yen, total of the abandoned order
--   fraud_result      text      screening result (e.g. OK, HOLD, REVIEW, NG) or NULL
--   fraud_action      text      screening action (e.g. redirect) or NULL
--   purchased_at      timestamp the customer's latest completed order, NULL if none
--
-- Optional columns (leave them out and the channel or flow that needs them has no candidates):
--   phone, sms_consent, push_token, push_consent, logged_in, ad_input_enabled
--
-- No bind parameters: cartnudge wraps this file for its pages, lookups, search and report.
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
