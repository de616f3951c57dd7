-- Workloads are stored in their kind's payload shape (src/domain/workload-spec.ts):
-- COMPUTE envVars/sparkConf at the top level, the three Spark job kinds under
-- template, a JUPYTER_CONTAINER's envVars under config, a STORAGE_CONFIG's
-- endpoint/accessKey/secretKey/storageSecret. Earlier versions stored every kind
-- flat, always with both envVars and sparkConf. Move each one where its kind
-- takes it. Two cannot move and stay as they are (still injected; workload get
-- warns): a JUPYTER_CONTAINER with Spark conf, a STORAGE_CONFIG with any entry.
UPDATE workloads
SET spec = (spec - 'envVars' - 'sparkConf') || jsonb_build_object('template',
    CASE WHEN spec ? 'envVars' THEN jsonb_build_object('envVars', spec -> 'envVars') ELSE '{}'::jsonb END
    || CASE WHEN spec ? 'sparkConf' THEN jsonb_build_object('sparkConf', spec -> 'sparkConf') ELSE '{}'::jsonb END)
WHERE kind IN ('SPARK_JOB', 'SPARK_STREAMING_JOB', 'SDK_SPARK_JOB')
  AND (spec ? 'envVars' OR spec ? 'sparkConf') AND NOT spec ? 'template';

UPDATE workloads
SET spec = (spec - 'envVars' - 'sparkConf')
  || jsonb_build_object('config', jsonb_build_object('envVars', coalesce(spec -> 'envVars', '{}'::jsonb)))
WHERE kind = 'JUPYTER_CONTAINER'
  AND (spec ? 'envVars' OR spec ? 'sparkConf') AND NOT spec ? 'config'
  AND coalesce(spec -> 'sparkConf', '{}'::jsonb) = '{}'::jsonb;

UPDATE workloads
SET spec = spec - 'envVars' - 'sparkConf'
WHERE kind = 'STORAGE_CONFIG'
  AND coalesce(spec -> 'envVars', '{}'::jsonb) = '{}'::jsonb
  AND coalesce(spec -> 'sparkConf', '{}'::jsonb) = '{}'::jsonb;
