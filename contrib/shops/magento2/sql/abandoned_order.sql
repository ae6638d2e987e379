-- cartnudge shop contract: abandoned_order — FIRST DRAFT for Magento 2.4 on MariaDB
--
-- One order by id, with the same columns as abandoned_orders.sql (see there, and its Magento
-- mapping: the id is a quote id), for `cartnudge templates preview --order N` and
-- `cartnudge token verify`.
--
-- Bind parameters:
--   :order_id   the order's id
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
WHERE q.entity_id = :order_id
