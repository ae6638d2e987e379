-- cartnudge shop contract: abandoned — FIRST DRAFT for Magento 2.4 on MariaDB
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
  q.entity_id AS order_id,
  q.customer_id AS customer_id,
  CASE WHEN q.customer_is_guest = 0 AND ce.entity_id IS NOT NULL THEN 'member'
       ELSE 'visitor' END AS customer_status,
  TRIM(CONCAT(COALESCE(q.customer_lastname, ba.lastname, ''), ' ',
              COALESCE(q.customer_firstname, ba.firstname, ''))) AS customer_name,
  COALESCE(q.customer_email, ba.email, sa.email) AS email,
  EXISTS (SELECT 1 FROM newsletter_subscriber s
           WHERE s.subscriber_status = 1
             AND s.store_id = q.store_id
             AND ((ce.entity_id IS NOT NULL AND s.customer_id = ce.entity_id)
               OR (ce.entity_id IS NULL AND s.customer_id = 0
                   AND s.subscriber_email = COALESCE(q.customer_email, ba.email, sa.email))))
    AS email_consent,
  'shop' AS storefront,
  NULL AS lp_id,
  CASE WHEN EXISTS (SELECT 1 FROM sales_order c
                     WHERE c.quote_id = q.entity_id AND c.state = 'canceled') THEN 'payment_failed'
       WHEN sa.shipping_method IS NOT NULL THEN 'confirm'
       ELSE 'cart' END AS abandoned_step,
  q.updated_at AS abandoned_at,
  q.updated_at AS last_activity_at,
  q.grand_total AS total_amount,
  NULL AS fraud_result,
  NULL AS fraud_action,
  COALESCE(ba.telephone, sa.telephone) AS phone,
  0 AS sms_consent,
  q.customer_is_guest = 0 AS logged_in,
  (SELECT MAX(p.created_at) FROM sales_order p
    WHERE p.state <> 'canceled'
      AND (p.customer_id = q.customer_id
           OR p.customer_email = COALESCE(q.customer_email, ba.email, sa.email))) AS purchased_at
FROM quote q
LEFT JOIN customer_entity ce ON ce.entity_id = q.customer_id
LEFT JOIN quote_address ba ON ba.quote_id = q.entity_id AND ba.address_type = 'billing'
LEFT JOIN quote_address sa ON sa.quote_id = q.entity_id AND sa.address_type = 'shipping'
WHERE q.is_active = 1
  AND q.items_count > 0
  AND NOT EXISTS (SELECT 1 FROM sales_order o
                   WHERE o.quote_id = q.entity_id AND o.state <> 'canceled')
