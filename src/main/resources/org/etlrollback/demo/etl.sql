-- etl-rollback demo: the nightly load, run in a session tagged with etl_rollback.migration_id.

-- new customers from the CRM export
INSERT INTO etl_rollback_demo.customers VALUES
    (6, 'Katherine Johnson', 'katherine@example.com', 'US'),
    (7, 'Hedy Lamarr',       'hedy@example.com',      'AT');
SELECT etl_rollback.checkpoint('customers_loaded');

-- their first orders, and one more for Grace
INSERT INTO etl_rollback_demo.orders VALUES
    (9,  6, 120.00, 'paid'),
    (10, 7,  35.50, 'paid'),
    (11, 2,  12.00, 'paid'),
    (12, 6,   9.99, 'paid');

-- the bug the rollback undoes: amounts already in euros converted from cents again
UPDATE etl_rollback_demo.orders SET amount = amount * 100 WHERE status = 'paid';

-- e-mail addresses of US customers "normalized"
UPDATE etl_rollback_demo.customers SET email = upper(email) WHERE country = 'US';

-- cancelled orders purged
DELETE FROM etl_rollback_demo.orders WHERE status = 'cancelled';

-- a closed account: its orders go with it (ON DELETE CASCADE), and are logged too
DELETE FROM etl_rollback_demo.customers WHERE id = 3;
