# Dates as Chinese banks write them; amounts grouped by thousands (¥1,234,567.89).
DATE_FORMAT = "Y年n月j日"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y年n月j日 H:i"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
MONTH_FORMAT = "Y年n月"
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
