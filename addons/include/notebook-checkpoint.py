    # The notebook checkpoint (Jupyter's cell, Zeppelin's paragraph): the newest parquet the
    # spark checkpoint wrote (1,000 rows whose squares sum to 332833500) and, with the
    # metastore, the sql checkpoint's table; the line it prints is the evidence.
    import json
    import time

    from pyspark.sql import SparkSession
    from pyspark.sql.functions import sum as sum_

    CHECKPOINTS = "s3a://{{ lake.buckets.warehouse }}/bigtop-checkpoint/"

    def newest_spark_checkpoint(spark):
        """The path of the newest spark-<time> directory the spark checkpoint wrote, or None."""
        jvm = spark.sparkContext._jvm
        root = jvm.org.apache.hadoop.fs.Path(CHECKPOINTS)
        fs = root.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
        if not fs.exists(root):
            return None
        runs = sorted(s.getPath().getName() for s in fs.listStatus(root) if s.getPath().getName().startswith("spark-"))
        return CHECKPOINTS + runs[-1] if runs else None

    def checkpoint(table=None):
        started = time.time()
        spark = SparkSession.builder.appName("bigtop-notebook-checkpoint").getOrCreate()
        evidence = {"spark": spark.version, "master": spark.sparkContext.master,
                    "sessionSeconds": round(time.time() - started, 1)}
        path = newest_spark_checkpoint(spark)
        evidence["path"] = path
        if path:
            rows = spark.read.parquet(path)
            evidence.update(rows=rows.count(), sum=rows.agg(sum_("sq")).collect()[0][0])
        if table:
            evidence["table"] = table
            evidence["tableRows"] = ([list(r) for r in spark.table(table).orderBy("id").collect()]
                                     if spark.catalog.tableExists(table) else None)
        spark.stop()
        evidence["seconds"] = round(time.time() - started, 1)
        print("BIGTOP_CHECKPOINT " + json.dumps(evidence), flush=True)
