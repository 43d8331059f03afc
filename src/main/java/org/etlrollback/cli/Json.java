package org.etlrollback.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.time.OffsetDateTime;
import java.util.Optional;
import org.etlrollback.ErrorCode;
import org.etlrollback.EtlRollbackException;

/** How {@code --json} prints a result: one indented JSON document, keys in snake_case, times in ISO 8601. */
final class Json {
    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Json() {
    }

    /** The document (maps, lists, strings, numbers, booleans, nulls), followed by a line break. */
    static String document(Object document) {
        try {
            return MAPPER.writeValueAsString(document) + "\n";
        } catch (JsonProcessingException e) {
            throw new EtlRollbackException(ErrorCode.FAILED, "could not write the result as JSON: " + e.getMessage(), e);
        }
    }

    /** A time as ISO 8601 text, e.g. {@code 2026-11-02T09:15:00.123456Z}; null for none. */
    static String time(OffsetDateTime time) {
        return time == null ? null : time.toString();
    }

    static String time(Optional<OffsetDateTime> time) {
        return time.map(Json::time).orElse(null);
    }
}
