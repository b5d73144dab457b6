import { useEffect, useState } from "preact/hooks";
import { api } from "./api";
import { navigate, binPath } from "./router";
import { forgetBin, ownerTokens, recentBins, rememberBin, setToken, type RecentBin } from "./storage";
import type { Bin } from "./types";
import { relTime } from "./format";
import { toast, useNow } from "./ui";

export function Home() {
  const [busy, setBusy] = useState(false);
  const [showOpts, setShowOpts] = useState(false);
  const [name, setName] = useState("");
  const [expiry, setExpiry] = useState("168h");
  const [priv, setPriv] = useState(false);
  const [openId, setOpenId] = useState("");
  const [recent, setRecent] = useState<RecentBin[]>(recentBins());
  const now = useNow(30000);
  // Your bins: what the server confirms this browser's owner tokens own,
  // with counts and last activity (null while loading or without tokens).
  const [owned, setOwned] = useState<Bin[] | null>(null);
  const [ownedErr, setOwnedErr] = useState("");
  const [search, setSearch] = useState("");
  const hasOwner = ownerTokens().length > 0;
  useEffect(() => {
    if (!hasOwner) return;
    let gone = false;
    const t = setTimeout(
      () =>
        api
          .listBins(search.trim())
          .then((l) => !gone && (setOwned(l.bins || []), setOwnedErr("")))
          .catch((e) => !gone && setOwnedErr(e.message)),
      search ? 250 : 0,
    );
    return () => {
      gone = true;
      clearTimeout(t);
    };
  }, [search, hasOwner]);
  const ownedIds = new Set((owned || []).map((b) => b.id));
  const others = recent.filter((b) => !ownedIds.has(b.id));

  const create = async () => {
    setBusy(true);
    try {
      const b = await api.createBin({
        name: name.trim() || undefined,
        expires_in: expiry === "never" ? null : expiry,
        private: priv || undefined,
      });
      if (b.token) setToken(b.id, b.token);
      rememberBin({ id: b.id, name: b.name, url: b.url || `${location.origin}/h/${b.id}`, created_at: b.created_at, private: b.private });
      navigate(binPath(b.id));
    } catch (e: any) {
      toast(`Could not create a bin: ${e.message}`, "err");
    } finally {
      setBusy(false);
    }
  };

  const openBin = (e: Event) => {
    e.preventDefault();
    let id = openId.trim();
    const m = /\/(?:h|bins)\/([^/?#]+)/.exec(id);
    if (m) id = m[1];
    if (id) navigate(binPath(id));
  };

  return (
    <main class="page home">
      <section class="hero">
        <h1>Inspect webhooks as they arrive.</h1>
        <p class="muted">
          Get a URL, point any provider at it, and watch every delivery live: headers, body, signature verdict, latency.
        </p>
        <div class="hero-actions">
          <button type="button" class="btn btn-primary btn-big" onClick={create} disabled={busy} data-testid="create-bin">
            {busy ? "Creating…" : "Create a bin"}
          </button>
          <button type="button" class="btn btn-ghost" onClick={() => setShowOpts(!showOpts)} aria-expanded={showOpts}>
            {showOpts ? "Hide options" : "Options"}
          </button>
        </div>
        {showOpts && (
          <div class="create-opts card">
            <label>
              Name
              <input value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="optional, e.g. stripe staging" maxLength={200} />
            </label>
            <label>
              Expires after
              <select value={expiry} onChange={(e) => setExpiry(e.currentTarget.value)}>
                <option value="1h">1 hour</option>
                <option value="24h">24 hours</option>
                <option value="168h">7 days</option>
                <option value="720h">30 days</option>
                <option value="never">never</option>
              </select>
            </label>
            <label class="check">
              <input type="checkbox" checked={priv} onChange={(e) => setPriv(e.currentTarget.checked)} />
              Private (reading needs a token, kept in this browser)
            </label>
            <p class="warn small storage-warn" data-testid="storage-warn">
              A bin's owner token is kept in this browser only: clearing its storage (site data) loses control of the bin. Copy the owner link from Settings → Sharing to keep it.
            </p>
          </div>
        )}
      </section>

      {hasOwner && (
        <section class="recent owned" data-testid="your-bins">
          <div class="section-head">
            <h2>Your bins</h2>
            <input
              type="search"
              value={search}
              onInput={(e) => setSearch(e.currentTarget.value)}
              placeholder="Search by name"
              aria-label="Search your bins by name"
              data-testid="bin-search"
            />
          </div>
          {ownedErr ? (
            <p class="warn small">Could not list your bins: {ownedErr}</p>
          ) : owned === null ? (
            <p class="muted">Loading…</p>
          ) : owned.length === 0 ? (
            <p class="muted">{search ? "No bin of yours matches." : "No bin this browser owns is still alive."}</p>
          ) : (
            <ul class="bin-list" data-testid="bin-list">
              {owned.map((b) => (
                <li key={b.id} class="bin-item" data-bin={b.id}>
                  <BinLink id={b.id} name={b.name} />
                  {b.private && <span class="pill">private</span>}
                  <span class="small bin-count" data-testid="bin-count">
                    {(b.request_count ?? 0).toLocaleString()} {b.request_count === 1 ? "request" : "requests"}
                  </span>
                  <span class="muted small bin-last" data-testid="bin-last">
                    {b.last_request_at ? `last ${relTime(b.last_request_at, now)}` : "no requests yet"}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </section>
      )}

      <section class="recent">
        <div class="section-head">
          <h2>{hasOwner ? "Other recent bins" : "Recent bins"}</h2>
          <form class="open-form" onSubmit={openBin}>
            <input value={openId} onInput={(e) => setOpenId(e.currentTarget.value)} placeholder="Open a bin by id or URL" aria-label="Bin id or URL" />
            <button class="btn" type="submit">
              Open
            </button>
          </form>
        </div>
        {others.length === 0 ? (
          <p class="muted">Bins you create or open appear here. They are remembered in this browser only.</p>
        ) : (
          <ul class="bin-list">
            {others.map((b) => (
              <li key={b.id} class="bin-item">
                <BinLink id={b.id} name={b.name} />
                {b.private && <span class="pill">private</span>}
                <span class="muted small">{relTime(b.created_at, now)}</span>
                <button
                  type="button"
                  class="btn btn-ghost btn-small"
                  aria-label={`Forget bin ${b.id}`}
                  onClick={() => {
                    forgetBin(b.id);
                    setRecent(recentBins());
                  }}
                >
                  ✕
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
    </main>
  );
}

// BinLink opens a bin in the app (a real link, so it can open in a new tab).
function BinLink({ id, name }: { id: string; name?: string | null }) {
  return (
    <a
      href={binPath(id)}
      onClick={(e) => {
        e.preventDefault();
        navigate(binPath(id));
      }}
    >
      <span class="bin-name">{name || "Untitled bin"}</span>
      <span class="mono muted bin-id">{id}</span>
    </a>
  );
}
