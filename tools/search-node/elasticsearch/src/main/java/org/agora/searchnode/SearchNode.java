package org.agora.searchnode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.elasticsearch.Build;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.http.HttpServerTransport;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.PluginBundle;
import org.elasticsearch.plugins.PluginsLoader;

/**
 * Starts one real Elasticsearch node in this JVM, for tests: single-node discovery,
 * HTTP and transport on 127.0.0.1 only, no security (no x-pack here). Prints
 * {@code READY elasticsearch <version> http://127.0.0.1:<port>} once it serves HTTP
 * and stops cleanly on SIGTERM (or, with {@code -exit-on-stdin-eof true}, when its stdin closes). Heap comes from the JVM options (-Xms/-Xmx).
 *
 * <pre>SearchNode -home DIR -data DIR [-port 0] [-name agora-test] [-log-level WARN] [-exit-on-stdin-eof false]</pre>
 */
public final class SearchNode {

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = Args.parse(args);
        Path home = Path.of(Args.require(opts, "home")).toAbsolutePath();
        Path data = Path.of(Args.require(opts, "data")).toAbsolutePath();
        Path logs = data.resolve("logs");
        Files.createDirectories(logs);
        Files.createDirectories(home.resolve("plugins"));
        // Elasticsearch looks for its native libraries (zstd, simdvec) under
        // <home>/lib/platform; they are not on Maven Central, so it runs without them
        // (as it does on a platform it has no libraries for).
        System.setProperty("es.path.home", home.toString());

        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", data.resolve("data").toString())
            .put("path.logs", logs.toString())
            .put("cluster.name", opts.getOrDefault("name", "agora-test"))
            .put("node.name", opts.getOrDefault("name", "agora-test"))
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", opts.getOrDefault("port", "0"))
            .put("transport.port", "0")
            // A test node on a developer's disk: never turn indices read-only for disk space.
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            // Let tests delete their indices by pattern.
            .put("action.destructive_requires_name", false)
            .put("logger.level", opts.getOrDefault("log-level", "WARN"))
            .build();

        LogConfigurator.configureESLogging();
        Environment env = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), home.resolve("config"),
            () -> "agora-test");
        LogConfigurator.configureWithoutConfig(env.settings());

        Set<PluginBundle> modules = PluginsLoader.loadModulesBundles(env.modulesDir(), false);
        PluginsLoader loader = PluginsLoader.createPluginsLoader(modules, Set.of(), Map.of(), false);
        Node node = new Node(env, loader);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.prepareForClose();
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "agora-search-node-stop"));
        if (Boolean.parseBoolean(opts.getOrDefault("exit-on-stdin-eof", "false"))) {
            // Started by a test run: go away with it, even if it dies without stopping us.
            Thread watch = new Thread(() -> {
                try {
                    while (System.in.read() != -1) {
                        // discard
                    }
                } catch (java.io.IOException ignored) {
                    // stdin gone: same as EOF
                }
                System.exit(0);
            }, "agora-search-node-stdin");
            watch.setDaemon(true);
            watch.start();
        }
        node.start();

        HttpServerTransport http = node.injector().getInstance(HttpServerTransport.class);
        int port = http.boundAddress().publishAddress().getPort();
        System.out.println("READY elasticsearch " + Build.current().version() + " http://127.0.0.1:" + port);
        System.out.flush();
        stopped.await();
    }
}
