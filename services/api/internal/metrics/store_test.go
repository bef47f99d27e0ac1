package metrics

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

func openTestStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.OpenDir(context.Background(), t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestStoreFigures(t *testing.T) {
	st := openTestStore(t)
	m := New()
	m.WatchStore(st)
	ctx := context.Background()
	for _, id := range []string{"a", "b"} {
		if _, _, err := st.AcceptOutbound(ctx, store.OutboundRequest{ID: id, To: "+436601234567", Text: "hi",
			Parts: []string{"0001000C914306101234560000026834"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Cancel(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	want := `# HELP simmodem_api_outbox_depth Outbound messages queued or sending.
# TYPE simmodem_api_outbox_depth gauge
simmodem_api_outbox_depth 1
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "simmodem_api_outbox_depth"); err != nil {
		t.Fatal(err)
	}
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != "simmodem_api_messages" {
			continue
		}
		for _, mm := range f.GetMetric() {
			l := mm.GetLabel()
			got[l[0].GetValue()+"/"+l[1].GetValue()] = mm.GetGauge().GetValue()
		}
	}
	if got["out/queued"] != 1 || got["out/cancelled"] != 1 || got["out/sent"] != 0 || got["in/received"] != 0 || len(got) != 10 {
		t.Fatalf("messages %v", got)
	}
	if n := testutil.CollectAndCount(m.Registry, "simmodem_api_outbox_oldest_queued_age_seconds"); n != 1 {
		t.Fatalf("oldest age series %d", n)
	}
}
