package org.etlrollback.internal.changelog;

import java.util.Optional;

/**
 * How the unique index that identifies a table's rows tells the values of one key column apart: with the equality
 * operator of its operator class, schema-qualified ({@code public.=} for citext, which the rollback's pinned
 * {@code search_path} would not find), and with its collation where that collation is not deterministic (under which
 * {@code 'Ab'} and {@code 'AB'} can be one key). Two keys name the same row when the index says so, though their bytes
 * may differ ({@code 1.0} and {@code 1.00}).
 *
 * @param operator  the equality operator, as {@code OPERATOR(...)} takes it
 * @param collation the nondeterministic collation, quoted and qualified; empty for a deterministic one, whose
 *                  equality is that of the bytes
 */
public record KeyEquality(String operator, Optional<String> collation) {
}
