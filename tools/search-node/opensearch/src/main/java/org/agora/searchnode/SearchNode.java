package org.agora.searchnode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.Version;
import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.http.HttpServerTransport;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * Starts one real OpenSearch node in this JVM, for tests: single-node discovery,
 * HTTP and transport on 127.0.0.1 only, no security plugin. Its modules
 * transport-netty4, analysis-common and mapper-extras are given as class-path
 * plugins, as OpenSearch's own MockNode does. Prints
 * {@code READY opensearch <version> http://127.0.0.1:<port>} once it serves HTTP and
 * stops cleanly on SIGTERM (or, with {@code -exit-on-stdin-eof true}, when its stdin closes). Heap comes from the JVM options (-Xms/-Xmx).
 *
 * <pre>SearchNode -data DIR [-port 0] [-name agora-test] [-log-level WARN] [-exit-on-stdin-eof false]</pre>
 */
public final class SearchNode {

    /** Node's constructor with class-path plugins is protected. */
    static final class EmbeddedNode extends Node {
        EmbeddedNode(Environment env, List<Class<? extends Plugin>> plugins) {
            super(env, plugins, true);
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = Args.parse(args);
        Path data = Path.of(Args.require(opts, "data")).toAbsolutePath();
        Path home = Path.of(opts.getOrDefault("home", data.resolve("home").toString())).toAbsolutePath();
        Path logs = data.resolve("logs");
        Files.createDirectories(logs);
        Files.createDirectories(home.resolve("config"));
        Files.createDirectories(home.resolve("modules"));
        Files.createDirectories(home.resolve("plugins"));

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
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("action.destructive_requires_name", false)
            .put("logger.level", opts.getOrDefault("log-level", "WARN"))
            .build();

        LogConfigurator.configureWithoutConfig(settings);
        Environment env = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), home.resolve("config"),
            () -> "agora-test");
        Node node = new EmbeddedNode(env, List.of(
            Netty4Plugin.class, CommonAnalysisPlugin.class, MapperExtrasPlugin.class));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
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
        System.out.println("READY opensearch " + Version.CURRENT + " http://127.0.0.1:" + port);
        System.out.flush();
        stopped.await();
    }
}
