module github.com/herald-dev/herald/sdks/go

go 1.19
