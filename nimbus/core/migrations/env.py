from nimbus.core.db import env_main
from nimbus.core.service import CoreBase

env_main(CoreBase.metadata)
