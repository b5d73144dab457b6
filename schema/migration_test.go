package schema

import (
	"testing"
	"testing/fstest"
)

func TestLoadMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	ms, err := LoadMigrations(fstest.MapFS{
		"m/0010_ten.sql": file("ten"),
		"m/0002_two.sql": file("two"),
		"m/0001_one.sql": file("one"),
	}, "m")
	if err != nil {
		t.Fatal(err)
	}
	want := []Migration{{1, "0001_one", "one"}, {2, "0002_two", "two"}, {10, "0010_ten", "ten"}}
	if len(ms) != len(want) {
		t.Fatalf("got %d migrations, want %d", len(ms), len(want))
	}
	for i := range want {
		if ms[i] != want[i] {
			t.Errorf("migration %d: %+v, want %+v", i, ms[i], want[i])
		}
	}

	for name, fsys := range map[string]fstest.MapFS{
		"no number":      {"m/init.sql": file("x")},
		"zero":           {"m/0000_zero.sql": file("x")},
		"not sql":        {"m/0001_one.txt": file("x")},
		"shared version": {"m/0001_a.sql": file("a"), "m/01_b.sql": file("b")},
		"no directory":   {"other/0001_a.sql": file("a")},
	} {
		if _, err := LoadMigrations(fsys, "m"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
