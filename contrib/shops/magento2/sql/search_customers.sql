-- cartnudge shop contract: search_customers — FIRST DRAFT for Magento 2.4 on MariaDB
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
--
-- Magento mapping (draft): customers are customer_entity rows (guests, and deleted customers,
-- cannot be searched); the latest abandoned order is the customer's latest active quote with
-- items and no live order; its step is simplified to 'cart'.
SELECT
  c.entity_id      AS customer_id,
  TRIM(CONCAT(COALESCE(c.lastname, ''), ' ', COALESCE(c.firstname, ''))) AS customer_name,
  c.email          AS email,
  EXISTS (SELECT 1 FROM newsletter_subscriber s
           WHERE s.customer_id = c.entity_id AND s.subscriber_status = 1) AS email_consent,
  'member'         AS customer_status,
  q.entity_id      AS order_id,
  CASE WHEN q.entity_id IS NOT NULL THEN 'cart' END AS abandoned_step,
  q.updated_at     AS abandoned_at,
  q.grand_total    AS total_amount,
  CASE WHEN q.entity_id IS NOT NULL THEN 'shop' END AS storefront,
  NULL             AS lp_id
FROM customer_entity c
LEFT JOIN quote q
  ON q.entity_id = (SELECT q2.entity_id
                      FROM quote q2
                     WHERE q2.customer_id = c.entity_id
                       AND q2.is_active = 1
                       AND q2.items_count > 0
                       AND NOT EXISTS (SELECT 1 FROM sales_order o
                                        WHERE o.quote_id = q2.entity_id
                                          AND o.state <> 'canceled')
                     ORDER BY q2.updated_at DESC, q2.entity_id DESC
                     LIMIT 1)
