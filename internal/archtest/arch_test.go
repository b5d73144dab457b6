// Package archtest keeps the dependency arrows of ../../shared/STYLE.md
// (README, "How it works"): only web imports Fiber and fasthttp, nothing
// imports web or cmd, schema imports nothing of ours. It reads `go list
// -json` of the whole module (imports of tests included), so it needs no
// build of the packages and no third-party loader.
package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const module = "github.com/hookscope/hookscope"

type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,TestImports,XTestImports", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages; the module has more", len(pkgs))
	}
	return pkgs
}

// under reports whether path is dir or inside it (module-relative).
func under(path, dir string) bool {
	full := module + "/" + dir
	return path == full || strings.HasPrefix(path, full+"/")
}

// Rule is one arrow that must not exist: From (the importing package, by
// its import path) may not import To.
type rule struct {
	name    string
	applies func(from string) bool
	forbids func(to string) bool
}

var rules = []rule{
	{
		// The HTTP framework stays at the edge. The bench harness is a
		// separate program that measures bare Fiber and drives the server
		// with a fasthttp client, so it is exempt.
		name:    "only web (and its subpackages) imports Fiber or fasthttp",
		applies: func(from string) bool { return !under(from, "web") && !under(from, "bench") },
		forbids: func(to string) bool {
			return strings.HasPrefix(to, "github.com/gofiber/") || to == "github.com/valyala/fasthttp" ||
				strings.HasPrefix(to, "github.com/valyala/fasthttp/")
		},
	},
	{
		// cmd/hookscope is the one place that wires web to the rest. web's
		// subpackages (wire, live) are for others to use.
		name:    "nothing but cmd imports web",
		applies: func(from string) bool { return !under(from, "cmd") && !under(from, "web") },
		forbids: func(to string) bool { return to == module+"/web" },
	},
	{
		name:    "nothing imports cmd",
		applies: func(string) bool { return true },
		forbids: func(to string) bool { return under(to, "cmd") },
	},
	{
		name:    "schema imports nothing of ours",
		applies: func(from string) bool { return from == module+"/schema" },
		forbids: func(to string) bool { return to != module+"/schema" && strings.HasPrefix(to, module+"/") },
	},
	{
		// The clients speak to servers through the public API only.
		name:    "client imports neither web nor ingest's internals",
		applies: func(from string) bool { return under(from, "client") },
		forbids: func(to string) bool {
			return to == module+"/web" || to == module+"/ingest" || under(to, "schema/sqlite") || under(to, "schema/clickhouse")
		},
	},
}

func TestDependencyArrows(t *testing.T) {
	pkgs := listPackages(t)
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			for _, p := range pkgs {
				if !r.applies(p.ImportPath) {
					continue
				}
				for kind, imps := range map[string][]string{"imports": p.Imports, "test imports": p.TestImports, "external test imports": p.XTestImports} {
					for _, imp := range imps {
						if r.forbids(imp) {
							t.Errorf("%s %s %s", p.ImportPath, kind, imp)
						}
					}
				}
			}
		})
	}
}

// TestRulesCatchViolations proves each rule fires on an arrow it forbids
// (a rule that never matches would pass silently).
func TestRulesCatchViolations(t *testing.T) {
	bad := map[string][2]string{
		"only web (and its subpackages) imports Fiber or fasthttp": {module + "/ingest", "github.com/gofiber/fiber/v2"},
		"nothing but cmd imports web":                              {module + "/alerts", module + "/web"},
		"nothing imports cmd":                                      {module + "/web", module + "/cmd/hookscope"},
		"schema imports nothing of ours":                           {module + "/schema", module + "/query"},
		"client imports neither web nor ingest's internals":        {module + "/client", module + "/web"},
	}
	for _, r := range rules {
		arrow, ok := bad[r.name]
		if !ok {
			t.Errorf("rule %q has no violation example", r.name)
			continue
		}
		if !r.applies(arrow[0]) || !r.forbids(arrow[1]) {
			t.Errorf("rule %q lets %s import %s", r.name, arrow[0], arrow[1])
		}
	}
}
