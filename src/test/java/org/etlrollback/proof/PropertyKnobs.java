package org.etlrollback.proof;

import net.jqwik.api.lifecycle.AroundPropertyHook;
import net.jqwik.api.lifecycle.PropagationMode;
import net.jqwik.api.lifecycle.PropertyExecutionResult;
import net.jqwik.api.lifecycle.PropertyExecutor;
import net.jqwik.api.lifecycle.PropertyLifecycleContext;

/**
 * Lets the command line steer the randomized properties without editing them:
 * <ul>
 *   <li>{@code -Detlrollback.seed=N} replays the tries of seed N (as a failure prints it);</li>
 *   <li>{@code -Detlrollback.tries=N} runs N tries instead of the few continuous integration runs;</li>
 *   <li>{@code -Detlrollback.soak=true} runs a long soak: {@value #SOAK_TRIES} tries (or etlrollback.tries).</li>
 * </ul>
 */
public final class PropertyKnobs implements AroundPropertyHook {
    static final int SOAK_TRIES = 2000;

    /** Registered on a test class, it applies to each of its properties. */
    @Override
    public PropagationMode propagateTo() {
        return PropagationMode.ALL_DESCENDANTS;
    }

    @Override
    public PropertyExecutionResult aroundProperty(PropertyLifecycleContext context, PropertyExecutor property) {
        String seed = System.getProperty("etlrollback.seed", "");
        if (!seed.isBlank()) {
            context.attributes().setSeed(seed.strip());
        }
        String tries = System.getProperty("etlrollback.tries", "");
        if (!tries.isBlank()) {
            context.attributes().setTries(Integer.parseInt(tries.strip()));
        } else if (Boolean.getBoolean("etlrollback.soak")) {
            context.attributes().setTries(SOAK_TRIES);
        }
        return property.execute();
    }
}
