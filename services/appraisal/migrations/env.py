from appraisal.models import Base
from crm_common.migrations import run_env

run_env(Base.metadata)
