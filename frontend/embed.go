// Package frontend holds the inspector's source (TypeScript + Preact, built
// with Vite) and embeds the built assets so that the hookscope binary serves
// the UI without node on the machine. `npm ci && npm run build` regenerates
// dist/; the build is deterministic and dist/ is committed.
package frontend

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the built inspector (index.html at its root).
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic("frontend: embedded dist missing: " + err.Error())
	}
	return sub
}
