-- The schema of an application that uses Flyway itself, in public, with its own history table.
CREATE TABLE public.customers (id int PRIMARY KEY, name text NOT NULL);
