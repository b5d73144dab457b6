package main

import (
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema/clickhouse/chtest"
	"github.com/hookscope/hookscope/web"
)

// TestClickHouseBinTokenGenerations: on ClickHouse the token generation is a
// column of the ReplacingMergeTree bins table (migration 0005): a revoke is
// a new row version, read back with FINAL, and survives a restart; the
// access model answers as on the embedded store.
func TestClickHouseBinTokenGenerations(t *testing.T) {
	chtest.Each(t, testClickHouseBinTokenGenerations)
}

func testClickHouseBinTokenGenerations(t *testing.T, srv *chtest.Server) {
	db := srv.Database(t)
	dir := t.TempDir()
	env := map[string]string{"HOOKSCOPE_CLICKHOUSE_URL": db}
	a := startApp(t, dir, env)
	key := serverKey(t, dir)
	var bin privateBin
	doJSON(t, "POST", a.base+"/api/v1/bins", map[string]any{"private": true, "expires_in": "2h"}, 201, &bin)
	api := a.base + "/api/v1/bins/" + bin.ID
	if s, _, _ := call(t, "PATCH", api, nil, `{"private":false}`); s != 401 {
		t.Errorf("stranger's PATCH on ClickHouse: %d", s)
	}
	var share struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	doJSONAuth(t, "POST", api+"/share", bin.Token, map[string]any{"expires_in": "30d"}, 201, &share)
	if time.Until(share.ExpiresAt) > 2*time.Hour {
		t.Errorf("share link outlives the bin: %v", share.ExpiresAt)
	}
	var rev, rev2 privateBin
	doJSONAuth(t, "POST", api+"/tokens/revoke", bin.Token, nil, 200, &rev)
	doJSONAuth(t, "POST", api+"/tokens/revoke", rev.Token, nil, 200, &rev2)
	for _, old := range []string{bin.Token, share.Token, rev.Token} {
		if s, _, _ := call(t, "GET", api, bearerHdr(old), ""); s != 401 {
			t.Errorf("old token on ClickHouse: %d", s)
		}
	}
	// The other settings survive a revoke (the whole row is rewritten).
	doJSONAuth(t, "PATCH", api, rev2.Token, map[string]any{"name": "kept"}, 200, nil)
	doJSONAuth(t, "POST", api+"/tokens/revoke", rev2.Token, nil, 200, &rev)
	var got struct {
		Name    string `json:"name"`
		Private bool   `json:"private"`
	}
	a.stop(t)
	a = startApp(t, dir, env)
	doJSONAuth(t, "GET", a.base+"/api/v1/bins/"+bin.ID, rev.Token, nil, 200, &got)
	if got.Name != "kept" || !got.Private {
		t.Errorf("bin after revoke and restart: %+v", got)
	}
	if s, _, _ := call(t, "GET", a.base+"/api/v1/bins/"+bin.ID, bearerHdr(mintGen(t, key, web.ScopeOwner, bin.ID, 2)), ""); s != 401 {
		t.Errorf("generation-2 token at generation 3: %d", s)
	}
	doJSONAuth(t, "GET", a.base+"/api/v1/bins/"+bin.ID, mintGen(t, key, web.ScopeOwner, bin.ID, 3), nil, 200, nil)
}
