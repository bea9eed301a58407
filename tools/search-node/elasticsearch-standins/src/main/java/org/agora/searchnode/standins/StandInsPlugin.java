package org.agora.searchnode.standins;

import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.Supplier;

import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.PorterStemFilter;
import org.apache.lucene.analysis.fr.FrenchAnalyzer;
import org.apache.lucene.analysis.fr.FrenchLightStemFilter;
import org.apache.lucene.analysis.fr.FrenchMinimalStemFilter;
import org.apache.lucene.analysis.miscellaneous.ASCIIFoldingFilter;
import org.apache.lucene.analysis.snowball.SnowballFilter;
import org.apache.lucene.analysis.util.ElisionFilter;
import org.elasticsearch.Build;
import org.elasticsearch.cluster.node.DiscoveryNodes;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.features.NodeFeature;
import org.elasticsearch.index.IndexVersion;
import org.elasticsearch.env.Environment;
import org.elasticsearch.index.analysis.AbstractIndexAnalyzerProvider;
import org.elasticsearch.index.analysis.AbstractTokenFilterFactory;
import org.elasticsearch.index.analysis.Analysis;
import org.elasticsearch.index.analysis.AnalyzerProvider;
import org.elasticsearch.index.analysis.NormalizingTokenFilterFactory;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.ActionPlugin;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.rest.BaseRestHandler;
import org.elasticsearch.rest.RestHandler;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.RestResponse;
import org.elasticsearch.rest.RestStatus;
import org.elasticsearch.xcontent.XContentBuilder;
import org.tartarus.snowball.ext.FrenchStemmer;

/**
 * Stand-ins, for the Agora test node only, for the few pieces of Elasticsearch
 * modules that Elastic does not publish on Maven Central and that Agora uses; a real
 * Elasticsearch has the modules themselves.
 * <ul>
 * <li>From analysis-common: token filters {@code elision}, {@code asciifolding} and
 * {@code stemmer} (porter/english and the French stemmers) and the {@code french}
 * analyzer, with the same names and settings, over the same Lucene filters. Any
 * other stemmer language is refused loudly, so a mapping that needs more fails here
 * instead of passing by accident.</li>
 * <li>From rest-root: {@code GET /} (and {@code HEAD /}), the node's name, cluster
 * and version, as the official clients' {@code info()} reads them.</li>
 * </ul>
 */
public final class StandInsPlugin extends Plugin implements AnalysisPlugin, ActionPlugin {

    private volatile ClusterService clusterService;

    @Override
    public Collection<?> createComponents(PluginServices services) {
        this.clusterService = services.clusterService();
        return List.of();
    }

    @Override
    public Collection<RestHandler> getRestHandlers(RestHandlersServices services, Supplier<DiscoveryNodes> nodes,
                                                   Predicate<NodeFeature> features) {
        return List.of(new RootInfo());
    }

    /** {@code GET /}: the same body as the rest-root module's. */
    final class RootInfo extends BaseRestHandler {
        @Override
        public String getName() {
            return "agora_test_root_info";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(RestRequest.Method.GET, "/"), new Route(RestRequest.Method.HEAD, "/"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request,
                                                     org.elasticsearch.client.internal.node.NodeClient client) {
            return channel -> {
                if (request.method() == RestRequest.Method.HEAD) {
                    channel.sendResponse(new RestResponse(RestStatus.OK, ""));
                    return;
                }
                Build build = Build.current();
                XContentBuilder b = channel.newBuilder();
                b.startObject();
                b.field("name", clusterService.localNode().getName());
                b.field("cluster_name", clusterService.getClusterName().value());
                b.field("cluster_uuid", clusterService.state().metadata().clusterUUID());
                b.startObject("version")
                    .field("number", build.qualifiedVersion())
                    .field("build_flavor", build.flavor())
                    .field("build_type", build.type().displayName())
                    .field("build_hash", build.hash())
                    .field("build_date", build.date())
                    .field("build_snapshot", build.isSnapshot())
                    .field("lucene_version", IndexVersion.current().luceneVersion().toString())
                    .field("minimum_wire_compatibility_version", build.minWireCompatVersion())
                    .field("minimum_index_compatibility_version", build.minIndexCompatVersion())
                    .endObject();
                b.field("tagline", "You Know, for Search");
                b.endObject();
                channel.sendResponse(new RestResponse(RestStatus.OK, b));
            };
        }
    }

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        return Map.of(
            "asciifolding", AsciiFolding::new,
            "elision", AnalysisPlugin.requiresAnalysisSettings(Elision::new),
            "stemmer", Stemmer::new);
    }

    @Override
    public Map<String, AnalysisProvider<AnalyzerProvider<? extends org.apache.lucene.analysis.Analyzer>>> getAnalyzers() {
        return Map.of("french", French::new);
    }

    static final class AsciiFolding extends AbstractTokenFilterFactory implements NormalizingTokenFilterFactory {
        private final boolean preserveOriginal;

        AsciiFolding(org.elasticsearch.index.IndexSettings index, Environment env, String name, Settings settings) {
            super(name);
            this.preserveOriginal = settings.getAsBoolean("preserve_original", false);
        }

        @Override
        public TokenStream create(TokenStream stream) {
            return new ASCIIFoldingFilter(stream, preserveOriginal);
        }

        @Override
        public TokenStream normalize(TokenStream stream) {
            return new ASCIIFoldingFilter(stream, false);
        }
    }

    static final class Elision extends AbstractTokenFilterFactory implements NormalizingTokenFilterFactory {
        private final CharArraySet articles;

        Elision(org.elasticsearch.index.IndexSettings index, Environment env, String name, Settings settings) {
            super(name);
            this.articles = Analysis.parseArticles(env, settings);
            if (articles == null) {
                throw new IllegalArgumentException("elision filter requires [articles] or [articles_path] setting");
            }
        }

        @Override
        public TokenStream create(TokenStream stream) {
            return new ElisionFilter(stream, articles);
        }
    }

    static final class Stemmer extends AbstractTokenFilterFactory {
        private final String language;

        Stemmer(org.elasticsearch.index.IndexSettings index, Environment env, String name, Settings settings) {
            super(name);
            this.language = settings.get("language", settings.get("name", "porter")).toLowerCase(Locale.ROOT);
            switch (language) {
                case "porter", "english", "light_french", "lightfrench", "minimal_french", "french" -> {
                }
                default -> throw new IllegalArgumentException("stemmer language [" + language
                    + "] is not available on the Agora test node (porter, english, light_french, minimal_french, french)");
            }
        }

        @Override
        public TokenStream create(TokenStream stream) {
            return switch (language) {
                case "light_french", "lightfrench" -> new FrenchLightStemFilter(stream);
                case "minimal_french" -> new FrenchMinimalStemFilter(stream);
                case "french" -> new SnowballFilter(stream, new FrenchStemmer());
                default -> new PorterStemFilter(stream);
            };
        }
    }

    static final class French extends AbstractIndexAnalyzerProvider<FrenchAnalyzer> {
        private final FrenchAnalyzer analyzer;

        French(org.elasticsearch.index.IndexSettings index, Environment env, String name, Settings settings) {
            super(name);
            this.analyzer = new FrenchAnalyzer(
                Analysis.parseStopWords(env, settings, FrenchAnalyzer.getDefaultStopSet()),
                Analysis.parseStemExclusion(settings, CharArraySet.EMPTY_SET));
        }

        @Override
        public FrenchAnalyzer get() {
            return analyzer;
        }
    }
}
