-- cartnudge shop contract: abandoned — Magento 2.4 on MariaDB (contrib/shops/magento2)
--
-- THE definition of an abandoned cart for Magento (README, "Adapting cartnudge to your shop"):
-- an active quote with items from which no live order was placed. cartnudge wraps this SELECT
-- for its pages, lookups, search and report: no bind parameters, no ORDER BY or LIMIT.
--
-- * order_id is the quote's entity_id; a quote restored after a cancelled payment (its order
--   cancelled) is 'payment_failed', one with a shipping method chosen 'confirm', else 'cart'.
-- * Guests (customer_is_guest 1, customer_id NULL) leave their address on the quote or its
--   addresses and may subscribe to the newsletter by address: config.yaml lets the visitor
--   cells of SPEC 2.1's table count, so they are reminded when they consented.
-- * A deleted customer leaves the quote's customer_id pointing nowhere: customer_status falls
--   back to visitor, and without an address the cart is a no_address skip.
-- * total_amount: the items with tax, without shipping (the quote items' row_total_incl_tax).
-- * Times are TIMESTAMP columns, read in the connection's time_zone (UTC on Magento installs):
--   shop.timestamps_timezone is UTC.
-- Columns Magento core does not record (storefront, lp_id, fraud, push, last activity apart
-- from updated_at) are left out and take the contract's defaults.
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
  CASE WHEN EXISTS (SELECT 1 FROM sales_order c
                     WHERE c.quote_id = q.entity_id AND c.state = 'canceled') THEN 'payment_failed'
       WHEN sa.shipping_method IS NOT NULL THEN 'confirm'
       ELSE 'cart' END AS abandoned_step,
  q.updated_at AS abandoned_at,
  q.updated_at AS last_activity_at,
  (SELECT SUM(COALESCE(qi.row_total_incl_tax, qi.row_total)) FROM quote_item qi
    WHERE qi.quote_id = q.entity_id AND qi.parent_item_id IS NULL) AS total_amount,
  COALESCE(ba.telephone, sa.telephone) AS phone,
  q.customer_is_guest = 0 AS logged_in,
  (SELECT MAX(p.created_at) FROM sales_order p
    WHERE p.state <> 'canceled' AND p.customer_id = q.customer_id) AS purchased_at
FROM quote q
LEFT JOIN customer_entity ce ON ce.entity_id = q.customer_id
LEFT JOIN quote_address ba ON ba.quote_id = q.entity_id AND ba.address_type = 'billing'
LEFT JOIN quote_address sa ON sa.quote_id = q.entity_id AND sa.address_type = 'shipping'
WHERE q.is_active = 1
  AND q.items_count > 0
  AND NOT EXISTS (SELECT 1 FROM sales_order o
                   WHERE o.quote_id = q.entity_id AND o.state <> 'canceled')
