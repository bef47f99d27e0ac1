module github.com/sim-modem-api/sim-modem-api/test

go 1.26.0

require (
	github.com/chromedp/cdproto v0.159.0
	github.com/chromedp/chromedp v0.23.0
	github.com/eclipse/paho.golang v0.23.0
	github.com/jackc/pgx/v5 v5.12.0
	github.com/sim-modem-api/sim-modem-api/modem v0.0.0
	github.com/sim-modem-api/sim-modem-api/services/api v0.0.0
	github.com/sim-modem-api/sim-modem-api/simulator v0.0.0
	go.bug.st/serial v1.8.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/creack/pty v1.1.24 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.41.0 // indirect
)

replace github.com/sim-modem-api/sim-modem-api/simulator => ../simulator

replace github.com/sim-modem-api/sim-modem-api/modem => ../modem

replace github.com/sim-modem-api/sim-modem-api/services/api => ../services/api
