"""Reading and writing registry files: CSV, XLSX, Parquet, templates, reports."""
