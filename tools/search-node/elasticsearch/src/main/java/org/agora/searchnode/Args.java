package org.agora.searchnode;

import java.util.HashMap;
import java.util.Map;

/** {@code -key value} pairs. */
final class Args {
    private Args() {}

    static Map<String, String> parse(String[] args) {
        Map<String, String> out = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("-") || i + 1 >= args.length) {
                throw new IllegalArgumentException("usage: SearchNode -home DIR -data DIR [-port 0] [-name NAME] [-log-level WARN] [-exit-on-stdin-eof false]; bad: " + a);
            }
            out.put(a.replaceFirst("^-+", ""), args[++i]);
        }
        return out;
    }

    static String require(Map<String, String> opts, String key) {
        String v = opts.get(key);
        if (v == null) {
            throw new IllegalArgumentException("missing -" + key);
        }
        return v;
    }
}
