package org.etlrollback.proof;

import java.util.List;

/** The key values randomized histories choose from: small, so that keys are deleted and taken again. */
final class Keys {
    /** ids of parent, child and node rows are 1 to this (a key move may go further). */
    static final int ID_SPACE = 16;
    /** a of pair rows is 1 to this. */
    static final int A_SPACE = 3;
    /** b of pair rows, text keys that need quoting in JSON and SQL. */
    static final List<String> B_VALUES = List.of("x", "Y", "ç", "😀", "it's", "a\"b");

    private Keys() {
    }
}
