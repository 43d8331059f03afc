-- etl-rollback demo: a small shop, in a schema of its own that the demo drops when it is done.
CREATE SCHEMA etl_rollback_demo;

CREATE TABLE etl_rollback_demo.customers (
    id      integer PRIMARY KEY,
    name    text NOT NULL,
    email   text NOT NULL UNIQUE,
    country text NOT NULL
);

CREATE TABLE etl_rollback_demo.orders (
    id          integer PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES etl_rollback_demo.customers ON DELETE CASCADE,
    amount      numeric(10,2) NOT NULL,
    status      text NOT NULL
);

INSERT INTO etl_rollback_demo.customers VALUES
    (1, 'Ada Lovelace',    'ada@example.com',     'GB'),
    (2, 'Grace Hopper',    'grace@example.com',   'US'),
    (3, 'Alan Turing',     'alan@example.com',    'GB'),
    (4, 'Edsger Dijkstra', 'edsger@example.com',  'NL'),
    (5, 'Barbara Liskov',  'barbara@example.com', 'US');

INSERT INTO etl_rollback_demo.orders VALUES
    (1, 1, 25.00, 'paid'),
    (2, 1, 12.50, 'shipped'),
    (3, 2, 99.90, 'paid'),
    (4, 3, 15.00, 'cancelled'),
    (5, 3, 42.00, 'paid'),
    (6, 4,  7.25, 'cancelled'),
    (7, 5, 64.00, 'shipped'),
    (8, 5, 18.40, 'paid');
