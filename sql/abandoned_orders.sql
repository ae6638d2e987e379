-- cartnudge shop contract: abandoned_orders
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
--   phone             text      as typed (cartnudge normalises it to E.164), for SMS
--   sms_consent       boolean   opt-in to SMS
--   push_token        text      the device token for push, NULL if none
--   push_consent      boolean   opt-in to push notifications
--   line_user_id      text      the shopper's LINE user id (U + 32 hex digits) for the shop's
--                               official account, NULL if none (from LINE Login / the webhook)
--   line_consent      boolean   opt-in to LINE messages (false once the user blocked the account)
--   returning_customer boolean  the customer completed an order before (segments' customer:
--                               first_time / returning); NULL or absent: an earlier purchased_at
--   logged_in         boolean   the shopper was logged in (the input flow wants not)
--   ad_input_enabled  boolean   arrived through an ad URL whose input-abandonment setting is on
--
-- Bind parameters:
--   :due_before     only orders abandoned at or before this (now - the shortest step delay)
--   :active_since   only orders active at or after this (now - cart validity, or the lookback)
--   :after_at       keyset: the last page's last last_activity_at (first page: :active_since)
--   :after_id       keyset: the last page's last order_id (first page: -1)
--   :chunk_size     rows per page
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
  AND o.abandoned_at <= :due_before
  -- one lower bound for the index: the later of the window's start and the last page's end
  AND o.last_activity_at >= CASE WHEN :after_at > :active_since THEN :after_at
                                 ELSE :active_since END
  AND (o.last_activity_at > :after_at OR o.id > :after_id)
ORDER BY o.last_activity_at, o.id
LIMIT :chunk_size
