module github.com/sim-modem-api/sim-modem-api/services/api

go 1.25.0
