-- cartnudge shop contract: search_customers
--
-- Every customer with their latest order in abandoned state (NULLs when they have none), in
-- keyset pages by customer_id, for `cartnudge search` and `cartnudge send-bulk`. Filters are
-- applied by cartnudge, so this query stays one simple shape on every database.
--
-- Columns it must return:
--   customer_id       integer
--   customer_name     text
--   email             text       NULL allowed
--   email_consent     boolean
--   customer_status   text       'member' | 'visitor'
--   order_id          integer    the latest abandoned order, NULL if none
--   abandoned_step    text       its step ('input' belongs to the input flow), NULL if none
--   abandoned_at      timestamp  NULL if none
--   total_amount      integer    yen, the abandoned order's total, NULL if none
--   storefront        text       NULL if none
--   lp_id             integer    NULL if none
--
-- Bind parameters:
--   :after_id     keyset: the last page's last customer_id (first page: -1)
--   :chunk_size   rows per page
SELECT
  c.id             AS customer_id,
  c.name           AS customer_name,
  c.email          AS email,
  c.email_optin    AS email_consent,
  c.status         AS customer_status,
  o.id             AS order_id,
  o.abandoned_step AS abandoned_step,
  o.abandoned_at   AS abandoned_at,
  o.total_amount   AS total_amount,
  o.storefront     AS storefront,
  o.lp_id          AS lp_id
FROM customers c
LEFT JOIN orders o
  ON o.id = (SELECT o2.id
               FROM orders o2
              WHERE o2.customer_id = c.id
                AND o2.state = 'abandoned'
              ORDER BY o2.abandoned_at DESC, o2.id DESC
              LIMIT 1)
WHERE c.id > :after_id
ORDER BY c.id
LIMIT :chunk_size
