// Package e2e is the end-to-end suite of the api: it builds the simulator,
// the relay and the api, runs them as processes on loopback with free
// ports, and drives the api over HTTP while checking, through the
// simulator's control API, what reached the modem.
//
// API_TEST_DATABASE selects the api's store: unset or "sqlite", the
// SQLite file in each api's data directory; "postgres", a PostgreSQL
// database of each test's own (API_DATABASE_URL) on one server the suite
// starts (Debian's postgresql package, as services/api/pgtest runs it);
// make test-go runs the suite both ways. The cluster tests (TestCluster*:
// several api instances on one database, a kill -9 of a modem's owner)
// need PostgreSQL whatever API_TEST_DATABASE says: without it installed
// they skip, or fail when $CI is set.
//
// E2E_BENCH=1 also runs the load figures (TestBench*), which are not
// pass/fail. The benchmarks are figures too: BenchmarkAcceptMessages
// (POST /v1/messages on SQLite and on PostgreSQL) and
// BenchmarkClusterTakeover (the time from a kill -9 of a modem's owner to
// its take-over), for example
//
//	go test -run '^$' -bench 'AcceptMessages|ClusterTakeover' -benchtime 5x ./e2e
package e2e
