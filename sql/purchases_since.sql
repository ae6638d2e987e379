-- cartnudge shop contract: purchases_since
--
-- Re-checked just before sending: the latest completed order of these customers, and of
-- anyone with these e-mail addresses, so a shopper who bought between selection and sending,
-- under this record or another one with the same address, is not reminded (skip reason
-- "purchased"; SPEC "person").
--
-- Columns:
--   customer_id   integer or text   required (NULL allowed for a guest's order)
--   purchased_at  timestamp         required: the latest completed order
--   email         text              optional: the address it was bought under
--
-- Bind parameters:
--   :customer_ids  a list of customer ids (expanded to IN (...))
--   :emails        optional: a list of e-mail addresses, normalised (NFKC, lower case);
--                  compare them with LOWER(email)
SELECT
  o.customer_id        AS customer_id,
  LOWER(c.email)       AS email,
  MAX(o.completed_at)  AS purchased_at
FROM orders o
LEFT JOIN customers c ON c.id = o.customer_id
WHERE o.state = 'completed'
  AND (o.customer_id IN :customer_ids OR LOWER(c.email) IN :emails)
GROUP BY o.customer_id, LOWER(c.email)
