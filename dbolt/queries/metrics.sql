-- Time series for the staff dashboard's charts, under the staff user's JWT.

-- name: metrics_chart_series
select * from staff_chart_series(window_seconds => %(window_seconds)s, bucket_seconds => %(bucket_seconds)s);
