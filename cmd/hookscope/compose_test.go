package main

import (
	"io"
	"maps"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fasthttp/websocket"
	"go.yaml.in/yaml/v3"

	"github.com/hookscope/hookscope/ingest/caplog/natslog/natstest"
	"github.com/hookscope/hookscope/schema/clickhouse/chtest"
)

// composeFile is the part of a compose file the tests read.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       string            `yaml:"build"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	DependsOn   yaml.Node         `yaml:"depends_on"`
}

// dependsOn lists depends_on in either of its forms (list or map).
func (s composeService) dependsOn(t *testing.T) []string {
	t.Helper()
	var out []string
	switch s.DependsOn.Kind {
	case 0:
	case yaml.SequenceNode:
		if err := s.DependsOn.Decode(&out); err != nil {
			t.Fatal(err)
		}
	case yaml.MappingNode:
		var m map[string]any
		if err := s.DependsOn.Decode(&m); err != nil {
			t.Fatal(err)
		}
		for k := range m {
			out = append(out, k)
		}
	default:
		t.Fatalf("depends_on of kind %v", s.DependsOn.Kind)
	}
	slices.Sort(out)
	return out
}

func readCompose(t *testing.T, path string) composeFile {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f composeFile
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

// composeTopology is the HA compose file's services by role.
type composeTopology struct {
	file                   composeFile
	clickhouse, proxy      string
	nats, hookscope        []string
	hookscopeEnv           map[string]string // of the first instance
	natsConf, nginxConf    string
	natsConfPath, ngxPath  string
	clickhouseImageVersion string
}

func readTopology(t *testing.T) composeTopology {
	t.Helper()
	top := composeTopology{file: readCompose(t, "../../docker-compose.yml")}
	for name, s := range top.file.Services {
		switch {
		case s.Build == ".":
			top.hookscope = append(top.hookscope, name)
		case strings.HasPrefix(s.Image, "nats:"):
			top.nats = append(top.nats, name)
		case strings.HasPrefix(s.Image, "clickhouse/clickhouse-server:"):
			top.clickhouse = name
			top.clickhouseImageVersion = strings.TrimPrefix(s.Image, "clickhouse/clickhouse-server:")
		case strings.HasPrefix(s.Image, "nginx:"):
			top.proxy = name
		default:
			t.Errorf("service %s (%q) has no role in the topology", name, s.Image)
		}
	}
	slices.Sort(top.hookscope)
	slices.Sort(top.nats)
	if len(top.hookscope) > 0 {
		top.hookscopeEnv = top.file.Services[top.hookscope[0]].Environment
	}
	mounted := func(svc, inContainer string) (string, string) {
		for _, v := range top.file.Services[svc].Volumes {
			parts := strings.Split(v, ":")
			if len(parts) >= 2 && parts[1] == inContainer && strings.HasPrefix(parts[0], "./") {
				b, err := os.ReadFile("../../" + parts[0])
				if err != nil {
					t.Fatalf("%s mounts %s: %v", svc, parts[0], err)
				}
				return parts[0], string(b)
			}
		}
		t.Fatalf("%s mounts nothing at %s", svc, inContainer)
		return "", ""
	}
	if len(top.nats) > 0 && top.proxy != "" {
		top.natsConfPath, top.natsConf = mounted(top.nats[0], "/etc/nats/nats.conf")
		top.ngxPath, top.nginxConf = mounted(top.proxy, "/etc/nginx/nginx.conf")
	}
	return top
}

// composeVar resolves the ${NAME:-default} / ${NAME:?message} forms the
// compose file uses: the default, or set[NAME] for a required one.
var composeVarRE = regexp.MustCompile(`\$\{([A-Z_]+)(:-|:\?)([^}]*)\}`)

func resolveCompose(t *testing.T, v string, set map[string]string) string {
	t.Helper()
	return composeVarRE.ReplaceAllStringFunc(v, func(m string) string {
		p := composeVarRE.FindStringSubmatch(m)
		if x, ok := set[p[1]]; ok {
			return x
		}
		if p[2] == ":?" {
			t.Fatalf("%s is required by the compose file and the test did not set it", p[1])
		}
		return p[3]
	})
}

// TestComposeFileMatchesConfig: docker-compose.yml is the HA setup of
// issue 15 (ClickHouse, 3 NATS nodes, two hookscope instances, a reverse
// proxy) and agrees with the configuration: every HOOKSCOPE_ variable is one
// config.go reads and parses, the NATS URL names the three NATS services,
// the replicas match them, the ClickHouse URL names the ClickHouse service,
// every instance has the same settings and a required JWT secret, and the
// mounted nats.conf and nginx.conf agree with the services and limits.
func TestComposeFileMatchesConfig(t *testing.T) {
	top := readTopology(t)
	if len(top.nats) != 3 || len(top.hookscope) != 2 || top.clickhouse == "" || top.proxy == "" {
		t.Fatalf("services: clickhouse %q, nats %v, hookscope %v, proxy %q; want ClickHouse, 3 NATS nodes, 2 instances, a proxy",
			top.clickhouse, top.nats, top.hookscope, top.proxy)
	}
	// Dependencies and volumes refer to what exists.
	for name, s := range top.file.Services {
		for _, d := range s.dependsOn(t) {
			if _, ok := top.file.Services[d]; !ok {
				t.Errorf("%s depends on unknown service %s", name, d)
			}
		}
		for _, v := range s.Volumes {
			src := strings.Split(v, ":")[0]
			if strings.HasPrefix(src, "./") {
				continue // checked when read
			}
			if _, ok := top.file.Volumes[src]; !ok {
				t.Errorf("%s uses volume %s, not declared", name, src)
			}
		}
	}
	wantDeps := append([]string{top.clickhouse}, top.nats...)
	slices.Sort(wantDeps)
	known := map[string]bool{}
	for _, s := range settings() {
		known[s.env] = true
	}
	for _, name := range top.hookscope {
		s := top.file.Services[name]
		if got := s.dependsOn(t); !slices.Equal(got, wantDeps) {
			t.Errorf("%s depends on %v, want %v", name, got, wantDeps)
		}
		if len(s.Ports) != 0 {
			t.Errorf("%s publishes %v: only the proxy should be reachable (it trusts X-Forwarded-For from anyone)", name, s.Ports)
		}
		if !maps.Equal(s.Environment, top.hookscopeEnv) {
			t.Errorf("%s's environment differs from %s's: every instance needs the same settings", name, top.hookscope[0])
		}
	}
	env := top.hookscopeEnv
	for k := range env {
		if !known[k] {
			t.Errorf("%s sets %s, which config.go does not read", top.hookscope[0], k)
		}
	}
	if !strings.HasPrefix(env["HOOKSCOPE_JWT_SECRET"], "${HOOKSCOPE_JWT_SECRET:?") {
		t.Errorf("HOOKSCOPE_JWT_SECRET = %q: must be required (${HOOKSCOPE_JWT_SECRET:?...}), never a default every installation shares", env["HOOKSCOPE_JWT_SECRET"])
	}
	secret := map[string]string{"HOOKSCOPE_JWT_SECRET": strings.Repeat("k", 64)}
	resolved := map[string]string{}
	for k, v := range env {
		resolved[k] = resolveCompose(t, v, secret)
	}
	cfg, err := parseConfig("hookscope", nil, func(k string) string {
		if k == "HOOKSCOPE_ADDR" {
			return "" // the image's ENV sets it: the default below
		}
		return resolved[k]
	}, io.Discard)
	if err != nil {
		t.Fatalf("the compose environment does not parse: %v", err)
	}
	var natsURLs []string
	for _, n := range top.nats {
		natsURLs = append(natsURLs, "nats://"+n+":4222")
	}
	if cfg.NATS.URL != strings.Join(natsURLs, ",") {
		t.Errorf("HOOKSCOPE_NATS_URL = %q, want every NATS service: %q", cfg.NATS.URL, strings.Join(natsURLs, ","))
	}
	if cfg.NATS.Replicas != len(top.nats) {
		t.Errorf("HOOKSCOPE_NATS_REPLICAS = %d for %d NATS nodes", cfg.NATS.Replicas, len(top.nats))
	}
	if u, err := url.Parse(cfg.ClickHouseURL); err != nil || u.Hostname() != top.clickhouse || u.Port() != "9000" {
		t.Errorf("HOOKSCOPE_CLICKHOUSE_URL = %q, want the %s service's native port 9000", cfg.ClickHouseURL, top.clickhouse)
	}
	if v, _ := strconv.Atoi(strings.Split(top.clickhouseImageVersion, ".")[0]); v < 24 {
		t.Errorf("ClickHouse image %s: pin a current LTS", top.clickhouseImageVersion)
	}

	// nats.conf: client port, routes between the three services, a payload
	// that takes the largest capture.
	if !strings.Contains(top.natsConf, "listen: 0.0.0.0:4222") || !strings.Contains(top.natsConf, "jetstream") {
		t.Errorf("%s: no JetStream on 4222", top.natsConfPath)
	}
	var routes []string
	for _, n := range top.nats {
		routes = append(routes, "nats://"+n+":6222")
	}
	if !strings.Contains(top.natsConf, "routes: ["+strings.Join(routes, ", ")+"]") {
		t.Errorf("%s: routes do not list %v", top.natsConfPath, routes)
	}
	if m := regexp.MustCompile(`max_payload: (\d+)MB`).FindStringSubmatch(top.natsConf); m == nil {
		t.Errorf("%s: no max_payload", top.natsConfPath)
	} else if mb, _ := strconv.Atoi(m[1]); int64(mb)<<20 < cfg.MaxBodyBytes+1<<20 {
		t.Errorf("%s: max_payload %dMB is below a capture of HOOKSCOPE_MAX_BODY_BYTES (%d) plus headers", top.natsConfPath, mb, cfg.MaxBodyBytes)
	}
	// nginx.conf: every instance upstream on hookscope's port, bodies as
	// large as hookscope takes.
	_, port, _ := strings.Cut(cfg.Addr, ":")
	for _, h := range top.hookscope {
		if !strings.Contains(top.nginxConf, "server "+h+":"+port) {
			t.Errorf("%s: %s:%s is not an upstream", top.ngxPath, h, port)
		}
	}
	if m := regexp.MustCompile(`client_max_body_size (\d+)m;`).FindStringSubmatch(top.nginxConf); m == nil {
		t.Errorf("%s: no client_max_body_size", top.ngxPath)
	} else if mb, _ := strconv.Atoi(m[1]); int64(mb)<<20 <= cfg.MaxBodyBytes {
		t.Errorf("%s: client_max_body_size %dm does not exceed HOOKSCOPE_MAX_BODY_BYTES (%d): nginx would answer 413 first", top.ngxPath, mb, cfg.MaxBodyBytes)
	}
	if !strings.Contains(top.nginxConf, "proxy_set_header Upgrade $http_upgrade") {
		t.Errorf("%s: websocket upgrades (the live feed) are not passed through", top.ngxPath)
	}
	// The single-node file stays valid YAML with one instance.
	single := readCompose(t, "../../docker-compose.single.yml")
	if _, ok := single.Services["hookscope"]; !ok {
		t.Error("docker-compose.single.yml has no hookscope service")
	}
}

// TestComposeTopologyWithoutDocker runs docker-compose.yml's topology here:
// a real 3-node JetStream cluster for the NATS services, a real ClickHouse
// for the ClickHouse service, two hookscope Apps configured with the
// instances' environment from the compose file (service names replaced by
// the test's addresses), and a round-robin reverse proxy standing in for
// nginx. Through the proxy: a bin is created, a live feed opened, captures
// spread over both instances arrive on the feed in order and are stored
// once each, and one of the two instances holds the alert lease.
func TestComposeTopologyWithoutDocker(t *testing.T) {
	top := readTopology(t)
	ns := natstest.Start(t, len(top.nats))
	srv := chtest.Start(t)
	dsn := srv.Database(t)
	env := map[string]string{}
	for k, v := range top.hookscopeEnv {
		env[k] = resolveCompose(t, v, map[string]string{"HOOKSCOPE_JWT_SECRET": strings.Repeat("s", 64)})
	}
	urls := env["HOOKSCOPE_NATS_URL"]
	for i, n := range top.nats {
		urls = strings.ReplaceAll(urls, "nats://"+n+":4222", ns.Nodes[i].URL)
	}
	env["HOOKSCOPE_NATS_URL"] = urls
	env["HOOKSCOPE_CLICKHOUSE_URL"] = dsn
	env["HOOKSCOPE_PUBLIC_URL"] = "" // links follow the proxy's Host
	// The second data dir does not exist yet, as in a fresh deployment
	// (cluster mode on ClickHouse must create it for its journal).
	apps := []*testApp{startApp(t, t.TempDir(), env), startApp(t, filepath.Join(t.TempDir(), "fresh", "data"), env)}

	// nginx's upstream: round robin over the instances, websockets passed.
	var next atomic.Uint64
	backends := make([]*url.URL, len(apps))
	for i, a := range apps {
		backends[i], _ = url.Parse(a.base)
	}
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(backends[next.Add(1)%uint64(len(backends))])
		r.SetXForwarded()
	}})
	defer proxy.Close()
	front := &testApp{base: proxy.URL}

	bin := front.newBin(t, nil)
	feed, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(proxy.URL, "http")+"/api/v1/bins/"+bin.ID+"/live", nil)
	if err != nil {
		t.Fatalf("live feed through the proxy: %v (%v)", err, resp)
	}
	defer feed.Close()
	waitLiveRegistered()
	ids := postN(t, front, bin.ID, "/via-proxy", 20, 0)
	for i, m := range readLive(t, feed, len(ids)) {
		if m.Request.ID != ids[i] {
			t.Fatalf("feed message %d = %s, want %s", i, m.Request.ID, ids[i])
		}
	}
	pollUntil(t, "20 requests stored", func() bool {
		var out struct {
			Count int `json:"count"`
		}
		doJSON(t, "GET", proxy.URL+"/api/v1/bins/"+bin.ID+"/requests/count", nil, 200, &out)
		return out.Count == 20
	})
	stored, rows, distinct := chIDs(t, dsn, bin.ID)
	if rows != 20 || distinct != 20 || len(stored) != 20 {
		t.Errorf("ClickHouse holds %d rows, %d distinct, want 20 once each", rows, distinct)
	}
	leaderOf(t, apps...)
}

// TestClusterModeNeedsJWTSecret: cluster mode without a shared signing key
// is refused at start (each instance would make its own and refuse the
// others' tokens), naming both settings.
func TestClusterModeNeedsJWTSecret(t *testing.T) {
	env := map[string]string{"HOOKSCOPE_NATS_URL": "nats://127.0.0.1:4222"}
	_, err := parseConfig("hookscope", nil, func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "HOOKSCOPE_JWT_SECRET") || !strings.Contains(err.Error(), "HOOKSCOPE_NATS_URL") {
		t.Fatalf("err = %v, want cluster mode refused without HOOKSCOPE_JWT_SECRET", err)
	}
	env["HOOKSCOPE_JWT_SECRET"] = strings.Repeat("x", 32)
	if _, err := parseConfig("hookscope", nil, func(k string) string { return env[k] }, io.Discard); err != nil {
		t.Fatal(err)
	}
}
