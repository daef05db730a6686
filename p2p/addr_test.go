package p2p

import (
	"crypto/ed25519"
	"errors"
	"testing"
)

func TestPeerAddrs(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := PeerIDFromPubKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if id2, err := PeerIDFromKey(priv); err != nil || id2 != id {
		t.Fatalf("PeerIDFromKey = %v, %v; want %v", id2, err, id)
	}
	short := FormatPeerAddr(id, "127.0.0.1", 26656)
	ai, err := ParsePeerAddr(short)
	if err != nil || ai.ID != id || ai.Addrs[0].String() != "/ip4/127.0.0.1/tcp/26656" {
		t.Fatalf("ParsePeerAddr(%q) = %v, %v", short, ai, err)
	}
	full := ai.Addrs[0].String() + "/p2p/" + id.String()
	if FormatPeerMultiaddr(id, ai.Addrs[0]) != full {
		t.Fatalf("FormatPeerMultiaddr = %q", FormatPeerMultiaddr(id, ai.Addrs[0]))
	}
	if ai2, err := ParsePeerAddr(full); err != nil || ai2.ID != id || !ai2.Addrs[0].Equal(ai.Addrs[0]) {
		t.Fatalf("ParsePeerAddr(%q) = %v, %v", full, ai2, err)
	}
	for in, want := range map[string]string{
		FormatPeerAddr(id, "::1", 1):        "/ip6/::1/tcp/1",
		FormatPeerAddr(id, "node0.net", 26): "/dns/node0.net/tcp/26",
	} {
		if ai, err := ParsePeerAddr(in); err != nil || ai.Addrs[0].String() != want {
			t.Errorf("ParsePeerAddr(%q) = %v, %v; want %s", in, ai, err, want)
		}
	}
	for _, bad := range []string{"", "nope", "xyz@127.0.0.1:1", id.String() + "@127.0.0.1", id.String() + "@127.0.0.1:0", "/ip4/127.0.0.1/tcp/1", "/garbage"} {
		if _, err := ParsePeerAddr(bad); !errors.Is(err, ErrPeerAddr) {
			t.Errorf("ParsePeerAddr(%q) err = %v, want ErrPeerAddr", bad, err)
		}
	}
	if _, err := PeerIDFromKey(priv[:10]); !errors.Is(err, ErrConfig) {
		t.Errorf("short key: err = %v", err)
	}
}
