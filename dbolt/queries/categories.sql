-- The business categories the Business Info Form offers (table business_categories).

-- name: categories_list
select slug, label from business_categories order by position, label;
