import {autocompleteCommand} from '../../autocomplete.js'

export default await autocompleteCommand('index')
