package drivercmp

import "testing"

func TestPragmas(t *testing.T) {
	for _, d := range drivers {
		db := open(t, d, t.TempDir())
		var jm string
		var ps, sy, ac int
		db.QueryRow("PRAGMA journal_mode").Scan(&jm)
		db.QueryRow("PRAGMA page_size").Scan(&ps)
		db.QueryRow("PRAGMA synchronous").Scan(&sy)
		db.QueryRow("PRAGMA wal_autocheckpoint").Scan(&ac)
		var v string
		db.QueryRow("SELECT sqlite_version()").Scan(&v)
		if jm != "wal" || ps != 32768 || sy != 1 {
			t.Errorf("%s: pragmas not applied", d.name)
		}
		t.Logf("%s: journal_mode=%s page_size=%d synchronous=%d autockpt=%d version=%s", d.name, jm, ps, sy, ac, v)
		db.Close()
	}
}
